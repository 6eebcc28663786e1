import type { RelayCore } from '../../app';
import { adminRouter } from './router';

/** Admin routes: subscriptions. */
export function subscriptionRoutes(core: RelayCore) {
  const app = adminRouter();
  void core;
  return app;
}
