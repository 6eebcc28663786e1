import type { RelayCore } from '../../app';
import { adminRouter } from './index';

/** Admin routes: deliveries. */
export function deliveryRoutes(core: RelayCore) {
  const app = adminRouter();
  void core;
  return app;
}
