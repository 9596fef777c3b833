/** Options of watchParent; the defaults watch this process's real parent. */
export interface ParentWatchOptions {
  /** The current parent process id. */
  parentPid?: () => number
  /** The parent to compare with; the current one by default (pass the one read at startup to notice one gone meanwhile). */
  initialPid?: number
  /** How often to look. */
  intervalMs?: number
}

/**
 * Calls `onGone` once when the process that started this one goes away (this process is
 * handed to another parent, init or a subreaper). `npm start` needs it: npm 11 exits on
 * SIGTERM without passing the signal on, which would leave the server and its emulators
 * running. The timer is unref'd, so it never keeps the process alive. Returns a stop function.
 */
export function watchParent (onGone: () => void, { parentPid = () => process.ppid, initialPid, intervalMs = 1_000 }: ParentWatchOptions = {}): () => void {
  const initial = initialPid ?? parentPid()
  const timer = setInterval(() => {
    if (parentPid() === initial) return
    clearInterval(timer)
    onGone()
  }, intervalMs)
  timer.unref()
  return () => { clearInterval(timer) }
}
