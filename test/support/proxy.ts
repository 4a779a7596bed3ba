import {createConnection, createServer, type Server, type Socket} from 'node:net'

/**
 * A TCP proxy on 127.0.0.1 in front of a server on 127.0.0.1, for fault tests (loopback only,
 * never anything else). It passes bytes both ways until armed:
 *
 * - `cutAfter(marker)`: the first time a client sends bytes that hold `marker`, they are passed
 *   on to the server, the server's answer is waited for and thrown away, and the client's
 *   connection is cut: the request was done, its reply lost (what a dropped link does between
 *   the server's commit and the client hearing of it).
 * - `refuse: true` with it: from the cut on, the proxy takes no more connections (the server
 *   seems gone), so the client cannot try again.
 *
 * `cuts` counts the cuts made, so a test can tell that its fault really happened.
 */
export class FaultProxy {
  cuts = 0
  private armed?: {marker: Buffer; refuse: boolean}
  private readonly sockets = new Set<Socket>()

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static start(targetPort: number): Promise<FaultProxy> {
    return new Promise((resolve, reject) => {
      // eslint-disable-next-line prefer-const
      let proxy: FaultProxy
      const server = createServer((client) => proxy.pipe(client, targetPort))
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => {
        proxy = new FaultProxy(server, (server.address() as {port: number}).port)
        resolve(proxy)
      })
    })
  }

  cutAfter(marker: Buffer | string, opts: {refuse?: boolean} = {}): void {
    this.armed = {marker: Buffer.from(marker), refuse: opts.refuse ?? false}
  }

  private pipe(client: Socket, targetPort: number): void {
    const upstream = createConnection({host: '127.0.0.1', port: targetPort})
    this.sockets.add(client).add(upstream)
    let tail = Buffer.alloc(0)
    let swallowing = false
    const cut = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('data', (chunk: Buffer) => {
      if (swallowing) return
      const a = this.armed
      const seen = Buffer.concat([tail, chunk])
      tail = seen.subarray(Math.max(0, seen.length - 256))
      if (a && seen.includes(a.marker)) {
        this.armed = undefined
        this.cuts++
        swallowing = true
        if (a.refuse) this.server.close()
        upstream.write(chunk)
        // The server's answer means it has done the request: then cut (a moment later, so that
        // answers sent in several pieces are all in).
        upstream.once('data', () => setTimeout(cut, 50))
        return
      }
      upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => {
      if (!swallowing) client.write(chunk)
    })
    for (const s of [client, upstream]) {
      s.on('error', () => cut())
      s.on('close', () => {
        this.sockets.delete(s)
        cut()
      })
    }
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    return new Promise((resolve) => {
      if (!this.server.listening) resolve()
      else this.server.close(() => resolve())
    })
  }
}
