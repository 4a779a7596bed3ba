import {MAX_PRIORITY} from '../policy.js'
import {ID_LENGTH, isMessageId} from '../message-id.js'

/**
 * A message file's name carries the message's mutable state, so that one rename(2) both moves
 * the message to its new state and records what changed (delivery count, lease deadline).
 *
 *   NAME  := ID ( "," FIELD )*
 *   FIELD := "a" N    deliveries so far (default 0)
 *          | "p" N    priority 0..9 (default 0)
 *          | "n" MS   not-before time, ms since epoch (files in delay/)
 *          | "t" TOK  this delivery's token, 8 hex digits (files in cur/, mq-spool 2)
 *          | "l" MS   lease deadline, ms since epoch (files in cur/)
 *          | "h"      the file starts with a one-line JSON header (see header.ts)
 *          | "x"      the header's expiresAt no longer applies (cleared by requeue)
 *
 * Fields are written in the order a, p, n, t, l, h and only when not default; a reader accepts
 * any order. A bare ID is a valid name: that is all a foreign producer has to write.
 */
export interface MessageName {
  id: string
  attempt: number
  priority: number
  notBefore?: number
  /** The delivery token: names one delivery for the whole of it (a renewal changes l, never t). */
  token?: string
  leaseUntil?: number
  header: boolean
  /** The header's expiry was cleared (requeue of a message that had expired). */
  noExpiry?: boolean
}


export function formatName(m: MessageName): string {
  let s = m.id
  if (m.attempt) s += `,a${m.attempt}`
  if (m.priority) s += `,p${m.priority}`
  if (m.notBefore !== undefined) s += `,n${m.notBefore}`
  if (m.token !== undefined) s += `,t${m.token}`
  if (m.leaseUntil !== undefined) s += `,l${m.leaseUntil}`
  if (m.header) s += ',h'
  if (m.noExpiry) s += ',x'
  return s
}

/** Parses a file name; null for anything that is not a message name (foreign files, sidecars). */
export function parseName(name: string): MessageName | null {
  const id = name.slice(0, ID_LENGTH)
  if (!isMessageId(id)) return null
  const m: MessageName = {attempt: 0, header: false, id, priority: 0}
  if (name.length === ID_LENGTH) return m
  if (name[ID_LENGTH] !== ',') return null
  for (const field of name.slice(ID_LENGTH + 1).split(',')) {
    const key = field[0]
    if (key === 'h' && field.length === 1) {
      m.header = true
      continue
    }
    if (key === 'x' && field.length === 1) {
      m.noExpiry = true
      continue
    }
    if (key === 't') {
      if (!/^[0-9a-f]{8}$/.test(field.slice(1))) return null
      m.token = field.slice(1)
      continue
    }
    const digits = field.slice(1)
    if (!/^\d{1,16}$/.test(digits)) return null
    const n = Number(digits)
    switch (key) {
      case 'a': {
        m.attempt = n
        break
      }
      case 'p': {
        if (n > MAX_PRIORITY) return null
        m.priority = n
        break
      }
      case 'n': {
        m.notBefore = n
        break
      }
      case 'l': {
        m.leaseUntil = n
        break
      }
      default: {
        return null
      }
    }
  }
  return m
}

/** The same message with its transient fields (token, lease, not-before) cleared: its name in new/. */
export function readyName(m: MessageName): MessageName {
  return {attempt: m.attempt, header: m.header, id: m.id, priority: m.priority, ...(m.noExpiry ? {noExpiry: true} : {})}
}
