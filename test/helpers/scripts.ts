import { spawn } from 'node:child_process'
import { once } from 'node:events'

const cwd = new URL('../..', import.meta.url)

/** What a script printed and how it ended. */
export interface ScriptRun {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs one of scripts/ (`invoke.ts`, `webhook.ts`) as its npm script does, killed after `timeoutMs`. */
export async function runScript (script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ScriptRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', `scripts/${script}`, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const [code] = await once(child, 'exit') as [number | null]
  return { code, stdout, stderr }
}
