import { describeFuzz } from './fuzz-suite';

// The fuzz suite (fuzz-suite.ts) against a relay on SQLite.
describeFuzz('sqlite');
