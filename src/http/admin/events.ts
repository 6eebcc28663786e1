import type { RelayCore } from '../../app';
import { adminRouter } from './router';

/** Admin routes: events. */
export function eventRoutes(core: RelayCore) {
  const app = adminRouter();
  void core;
  return app;
}
