import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Wait extends grammarCommand('wait') {
  static summary = 'Wait until messages are done or dead (for CI: push jobs, wait, fail if one died).'
  static description = `Blocks until each message is done (acked) or dead, printing "ID done" or "ID dead" as each ends. Exit status: 0 when every one was done; 65 when one or more died (mq show QUEUE ID says why); 66 when an id is unknown (at once), or a message vanished unfinished (cancelled, purged, dropped); 75 when --timeout ran out first. It looks at the queue every 50 ms at first, then every second. Redis deletes acked messages and remembers the last 10,000 acked ids per queue: a message acked longer ago than that is unknown there.`

  static examples = ['id=$(<%= config.bin %> push tests test/c.test.js) && <%= config.bin %> consume tests --drain --exec ./run-one-test.sh && <%= config.bin %> wait tests "$id" --timeout 10m']
}
