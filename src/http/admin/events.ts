import type { RelayCore } from '../../app';
import { adminRouter } from './index';

/** Admin routes: events. */
export function eventRoutes(core: RelayCore) {
  const app = adminRouter();
  void core;
  return app;
}
