/**
 * What both connections (pg's Client, through PgConnection.failure, and ./lean.ts) say when
 * the server asks for a password that nothing gave. A module of its own: the lean connection is
 * bundled apart from the engine (scripts/build-fast.js) and shares nothing else with it.
 */
export const NO_PASSWORD = 'the server asks for a password and none is given (in the URL, or a password file: PGPASSFILE, ~/.pgpass)'
