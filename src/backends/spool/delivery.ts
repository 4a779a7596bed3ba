import {closeSync, createReadStream, readSync} from 'node:fs'
import {type Readable} from 'node:stream'

import {type Delivery} from '../../backend.js'
import {ioError} from '../../errors.js'
import {lazy} from '../../lazy.js'
import {type Claim} from '../../spool/claim.js'
import {openRegular, readAndClose} from '../../spool/fs.js'

/**
 * A delivery whose body stays in its file until asked for: small bodies came with the claim's
 * first read; larger ones are read, streamed, or handed over as a file descriptor from the
 * claimed file (opened without following links, as everything in the spool), wherever a
 * renewal has moved it since.
 */
export class SpoolDelivery implements Delivery {
  readonly attempt: number
  readonly enqueuedAt: number
  readonly id: string
  readonly leaseMs: number
  readonly leaseUntil: number
  readonly priority: number
  readonly receipt: string
  readonly key?: string
  readonly headers?: Record<string, string>
  readonly expiresAt?: number
  readonly topic?: string
  private loaded?: Buffer

  constructor(
    readonly queue: string,
    private readonly claim: Claim,
    private readonly moved: Map<string, string>,
  ) {
    this.attempt = claim.attempt
    this.enqueuedAt = claim.enqueuedAt
    this.id = claim.id
    this.leaseMs = claim.leaseMs
    this.leaseUntil = claim.leaseUntil
    this.priority = claim.priority
    this.receipt = claim.receipt
    this.loaded = claim.body
    const h = claim.header
    if (h.key !== undefined) this.key = h.key
    if (h.headers !== undefined) this.headers = h.headers
    if (h.expiresAt !== undefined) this.expiresAt = h.expiresAt
    if (h.topic !== undefined) this.topic = h.topic
  }

  /** The body's size in bytes. */
  get size(): number {
    return this.claim.bodySize
  }

  /** Where the delivery's file is now (a renewal by this process may have moved it). */
  private path(): string {
    return this.moved.get(this.receipt) ?? this.claim.path
  }

  get body(): Buffer {
    this.loaded ??= readAndClose(this.bodyFd(), this.size)
    return this.loaded
  }

  openBody(): Readable {
    if (this.loaded) return lazy.stream().Readable.from([this.loaded])
    return createReadStream('', {autoClose: true, fd: this.bodyFd(), highWaterMark: 64 * 1024})
  }

  bodyFd(): number {
    const path = this.path()
    const {fd} = openRegular(path)
    try {
      // Move the file position past the header, so that a reader of the fd sees the body only.
      const skip = Buffer.allocUnsafe(Math.max(1, this.claim.bodyOffset))
      for (let left = this.claim.bodyOffset; left > 0; ) {
        const n = readSync(fd, skip, 0, left, null)
        if (n === 0) break
        left -= n
      }
    } catch (error) {
      closeSync(fd)
      throw ioError('read', path, error)
    }
    return fd
  }
}

