import { describeFuzz } from './fuzz-suite';

// The fuzz suite (fuzz-suite.ts) against a relay on the real Postgres (HOOKRELAY_TEST_POSTGRES_URL).
describeFuzz('postgres');
