/** The relay's version (semver); the one place it lives, used in the default user agent and `--version`. */
export const VERSION = '0.1.0';
