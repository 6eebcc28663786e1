import type { RelayCore } from '../../app';
import { adminRouter } from './router';

/** Admin routes: deliveries. */
export function deliveryRoutes(core: RelayCore) {
  const app = adminRouter();
  void core;
  return app;
}
