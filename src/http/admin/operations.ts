import type { RelayCore } from '../../app';
import { adminRouter } from './router';

/** Admin routes: operations. */
export function operationRoutes(core: RelayCore) {
  const app = adminRouter();
  void core;
  return app;
}
