// node-postgres's own parts that src/backends/postgres/lean.ts is made of (pg exports ./lib/*),
// and pgpass: none ships types.
declare module 'pg/lib/connection-parameters.js' {
  export default class ConnectionParameters {
    constructor(config: object)
    application_name?: string
    database: string
    fallback_application_name?: string
    host?: string
    idle_in_transaction_session_timeout?: number | string
    lock_timeout?: number | string
    options?: string
    password?: string
    port: number
    replication?: string
    ssl?: unknown
    statement_timeout?: number | string
    user: string
  }
}
declare module 'pg/lib/utils.js' {
  export function prepareValue(value: unknown): Buffer | null | string
}
declare module 'pg/lib/crypto/utils.js' {
  export function postgresMd5PasswordHash(user: string, password: string, salt: Buffer): Promise<string>
}
declare module 'pg/lib/crypto/sasl.js' {
  export function startSession(mechanisms: string[]): {mechanism: string; response: string}
  export function continueSession(session: unknown, password: string | undefined, serverData: string): Promise<void>
  export function finalizeSession(session: unknown, serverData: string): void
}
declare module 'pgpass' {
  export default function pgPass(params: object, callback: (password: string | undefined) => void): void
}
