import {SpoolBackend} from '../../src/backends/spool-backend.js'
import {tempSpool} from '../support/helpers.js'
import {behaviourSuite} from './suite.js'

behaviourSuite('spool', () => new SpoolBackend(tempSpool()))
