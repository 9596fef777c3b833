// Stands in for the `thread-stream` package in the Lambda bundle. pino requires it at load time
// for transports (a logger writing through a worker thread), which paylith never uses: its logger
// writes JSON lines to stdout, as Lambda wants. Leaving it out saves ~10 KB of the cold path.
module.exports = class ThreadStream {
  constructor () {
    throw new Error('pino transports are not part of the paylith bundle; the logger writes to stdout')
  }
}
