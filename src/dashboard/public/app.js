// The mq dashboard's page. Everything from a message (bodies, headers, ids, names) reaches the
// document as text (textContent, never innerHTML); the server's Content-Security-Policy would
// stop a script anyway. Actions are POSTs carrying the token of the page's meta element.
'use strict'
;(() => {
  const csrf = document.querySelector('meta[name="mq-csrf"]').content
  const app = document.getElementById('app')
  const STATES = ['ready', 'delayed', 'inflight', 'dead', 'done']
  let overview = null
  let selected = decodeURIComponent((location.hash.match(/^#q=(.*)$/) || [])[1] || '')
  let state = 'ready'
  let chart = null
  let chartQueue = ''
  let listAt = 0

  /** An element with attributes and children (strings become text nodes). */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag)
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'onclick') e.addEventListener('click', v)
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : String(v))
    }
    for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) e.append(c instanceof Node ? c : String(c))
    return e
  }

  async function get(path) {
    const r = await fetch(path, {headers: {Accept: 'application/json'}})
    if (!r.ok) throw new Error((await r.json().catch(() => ({}))).error || `${r.status}`)
    return r.json()
  }

  async function act(body, question) {
    if (question && !window.confirm(question)) return
    const r = await fetch('/api/action', {body: JSON.stringify(body), headers: {'Content-Type': 'application/json', 'X-MQ-CSRF': csrf}, method: 'POST'})
    const out = await r.json().catch(() => ({}))
    if (!r.ok) window.alert(out.error || `failed: ${r.status}`)
    listAt = 0
    await refresh()
  }

  function age(ms) {
    if (ms === null || ms === undefined) return '-'
    const s = Math.round(ms / 1000)
    if (s < 60) return `${s}s`
    if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
  }
  const rate = (r) => (r === null || r === undefined ? '-' : r >= 100 ? r.toFixed(0) : r.toFixed(1))

  function select(q) {
    selected = q
    state = 'ready'
    listAt = 0
    location.hash = `q=${encodeURIComponent(q)}`
    void refresh()
  }

  function header() {
    const o = overview
    return el(
      'header',
      {},
      el('h1', {}, 'mq'),
      el('span', {class: 'meta'}, `${o.engine} · ${o.queues.length} queue${o.queues.length === 1 ? '' : 's'} · sampled ${new Date(o.sampledAt).toLocaleTimeString()} every ${o.intervalMs / 1000}s`),
      o.readOnly ? el('span', {class: 'badge', id: 'read-only'}, 'read-only') : null,
    )
  }

  function queuesTable() {
    const o = overview
    const rows = o.queues.map((s) =>
      el(
        'tr',
        {'data-queue': s.queue},
        el('td', {}, el('button', {class: 'link', onclick: () => select(s.queue)}, s.queue), s.paused ? el('span', {class: 'badge'}, 'paused') : null),
        el('td', {class: 'n', 'data-state': 'ready'}, s.ready),
        el('td', {class: 'n', 'data-state': 'inflight'}, s.inflight),
        el('td', {class: 'n', 'data-state': 'delayed'}, s.delayed),
        el('td', {class: 'n', 'data-state': 'done'}, s.done),
        el('td', {class: `n${s.dead ? ' dead' : ''}`, 'data-state': 'dead'}, s.dead),
        el('td', {class: 'n'}, age(s.oldestReadyAgeMs)),
        el('td', {class: 'n'}, rate(s.pushRate)),
        el('td', {class: 'n'}, rate(s.ackRate)),
        o.readOnly
          ? null
          : el(
              'td',
              {},
              s.paused ? el('button', {'data-action': 'resume', onclick: () => act({action: 'resume', queue: s.queue})}, 'resume') : el('button', {'data-action': 'pause', onclick: () => act({action: 'pause', queue: s.queue})}, 'pause'),
              ' ',
              el('button', {class: 'danger', 'data-action': 'drop', onclick: () => act({action: 'drop', queue: s.queue}, `Drop queue ${s.queue} and all of its ${s.ready + s.inflight + s.delayed + s.done + s.dead} messages?`)}, 'drop'),
            ),
      ),
    )
    const head = ['queue', 'ready', 'in flight', 'delayed', 'done', 'dead', 'oldest', 'push/s', 'ack/s'].map((h, i) => el('th', {class: i ? 'n' : ''}, h))
    return el(
      'section',
      {},
      el('h2', {}, 'Queues'),
      o.error ? el('p', {class: 'error'}, `The engine did not answer: ${o.error}`) : null,
      ...o.warnings.map((w) => el('p', {class: 'warn'}, `warning: ${w}`)),
      o.queues.length === 0 ? el('p', {class: 'dim'}, 'No queues yet: mq push QUEUE BODY makes one.') : el('table', {id: 'queues'}, el('thead', {}, el('tr', {}, head, o.readOnly ? null : el('th', {}, ''))), el('tbody', {}, rows)),
    )
  }

  function messageRow(m) {
    const body =
      m.body === undefined
        ? null
        : el('pre', {class: 'body', 'data-encoding': m.encoding}, m.encoding === 'base64' ? `base64: ${m.body}` : m.body, m.truncated ? el('span', {class: 'dim'}, `\n… cut: ${m.size} bytes in all`) : null)
    const reason = m.reason ? el('div', {class: 'reason'}, `${m.reason.reason} after ${m.reason.attempts}: ${m.reason.lastError || ''}`, m.reason.stderrTail ? el('pre', {class: 'body'}, m.reason.stderrTail) : null) : null
    const headers = m.headers ? el('div', {class: 'dim'}, Object.entries(m.headers).map(([k, v]) => `${k}=${v}`).join('  ')) : null
    const actions = overview.readOnly
      ? null
      : m.state === 'dead'
        ? el('button', {'data-action': 'requeue', onclick: () => act({action: 'requeue', id: m.id, queue: selected})}, 'requeue')
        : m.state === 'ready' || m.state === 'delayed'
          ? el('button', {class: 'danger', 'data-action': 'cancel', onclick: () => act({action: 'cancel', id: m.id, queue: selected}, `Cancel message ${m.id}?`)}, 'cancel')
          : null
    const when = m.notBefore ? `due ${new Date(m.notBefore).toLocaleString()}` : m.leaseUntil ? `lease until ${new Date(m.leaseUntil).toLocaleTimeString()}` : ''
    return el(
      'tr',
      {'data-id': m.id},
      el('td', {}, el('code', {}, m.id), el('div', {class: 'dim'}, `attempts ${m.attempt} · priority ${m.priority} · ${m.size} bytes · enqueued ${new Date(m.enqueuedAt).toLocaleString()} ${when}`), headers, reason, body),
      el('td', {}, actions),
    )
  }

  // The list shown is the one loaded for the queue and state selected now: refreshes overlap
  // (the sampler's and a click's), and a load that a newer selection overtook is dropped.
  let list = null
  let listKey = ''
  const currentKey = () => `${selected}\n${state}`
  async function loadList() {
    if (!selected) return
    const key = currentKey()
    let got
    try {
      got = await get(`/api/messages?queue=${encodeURIComponent(selected)}&state=${state}`)
    } catch (error) {
      got = {error: error.message, messages: []}
    }
    if (key !== currentKey()) return
    list = got
    listKey = key
    listAt = Date.now()
  }

  function detail() {
    const s = overview.queues.find((q) => q.queue === selected)
    if (!s) return null
    const tabs = el(
      'div',
      {class: 'tabs'},
      STATES.map((st) => el('button', {class: st === state ? 'on' : '', 'data-tab': st, onclick: () => ((state = st), (listAt = 0), void refresh())}, `${st} (${s[st]})`)),
      el('span', {class: 'spacer'}),
      overview.readOnly || state === 'inflight' ? null : el('button', {class: 'danger', 'data-action': 'purge', onclick: () => act({action: 'purge', queue: selected, state}, `Delete every ${state} message of ${selected} (${s[state]})?`)}, `purge ${state}`),
      !overview.readOnly && state === 'dead' && s.dead > 0 ? el('button', {'data-action': 'requeue-all', onclick: () => act({action: 'requeue-all', queue: selected})}, 'requeue all') : null,
    )
    if (listKey !== currentKey()) list = null
    const rows = list ? list.messages.map(messageRow) : []
    return el(
      'section',
      {id: 'detail'},
      el('h2', {}, `Queue ${s.queue}`),
      el('div', {id: 'chart'}),
      tabs,
      list && list.error ? el('p', {class: 'error'}, list.error) : null,
      list && list.note ? el('p', {class: 'dim'}, list.note) : null,
      rows.length ? el('table', {id: 'messages'}, el('tbody', {}, rows)) : el('p', {class: 'dim'}, list ? `No ${state} messages.` : 'Loading…'),
      list && list.messages.length >= list.limit ? el('p', {class: 'dim'}, `The first ${list.limit} shown.`) : null,
    )
  }

  async function drawChart(container) {
    if (!container || typeof uPlot === 'undefined') return
    // RACE: each refresh renders a new, empty #chart. The chart already drawn for this queue
    // moves into it at once, with its count of points, before the history is fetched: between
    // the two, the page would otherwise show no chart (a flicker, and a reader of the page would
    // find the count without the canvas).
    if (chart && chartQueue === selected) {
      container.append(chart.root)
      container.dataset.points = String(chart.data[0].length)
    }
    const h = await get(`/api/history?queue=${encodeURIComponent(selected)}`)
    const data = [h.map((s) => s.t / 1000), h.map((s) => s.ready), h.map((s) => s.inflight), h.map((s) => s.dead), h.map((s) => s.pushRate), h.map((s) => s.ackRate)]
    if (!chart || chartQueue !== selected) {
      chart?.destroy()
      chartQueue = selected
      chart = new uPlot(
        {
          axes: [{}, {label: 'messages'}, {label: 'per second', side: 1, grid: {show: false}, scale: 'rate'}],
          height: 240,
          series: [
            {},
            {label: 'ready', stroke: '#2563eb', width: 2},
            {label: 'in flight', stroke: '#059669', width: 2},
            {label: 'dead', stroke: '#b91c1c', width: 2},
            {label: 'push/s', scale: 'rate', stroke: '#7c3aed', dash: [6, 4]},
            {label: 'ack/s', scale: 'rate', stroke: '#d97706', dash: [6, 4]},
          ],
          width: Math.max(400, container.clientWidth - 10),
        },
        data,
        container,
      )
    } else {
      if (chart.root.parentNode !== container) container.append(chart.root)
      chart.setData(data)
    }
    container.dataset.points = String(h.length)
  }

  async function refresh() {
    try {
      overview = await get('/api/queues')
    } catch (error) {
      app.replaceChildren(el('p', {class: 'error'}, `mq dashboard: ${error.message}`))
      return
    }
    if (selected && (listKey !== currentKey() || Date.now() - listAt > 5 * overview.intervalMs)) await loadList()
    const section = selected ? detail() : null
    app.replaceChildren(header(), el('main', {}, queuesTable(), section))
    if (section) await drawChart(document.getElementById('chart'))
  }

  window.addEventListener('hashchange', () => {
    const q = decodeURIComponent((location.hash.match(/^#q=(.*)$/) || [])[1] || '')
    if (q !== selected) select(q)
  })
  // Every page asks the server's last sample, as often as the server takes one.
  const loop = async () => {
    await refresh()
    setTimeout(loop, overview ? overview.intervalMs : 2000)
  }
  void loop()
})()
