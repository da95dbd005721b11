// Runs a Lua script the way Argo CD runs a resource health check: the object as the global
// `obj` (a Lua table), the script's returned table read back. fengari is Lua 5.3, Argo CD's
// gopher-lua is 5.1: scripts tested here keep to what both run.
import fengari from 'fengari';

const { lua, lauxlib, lualib, to_luastring } = fengari;

/** A JSON value as a Lua expression (null becomes nil: absent, as in Argo CD's conversion). */
export function luaLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return JSON.stringify(value); // JSON escapes are valid Lua escapes here
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{${value.map(luaLiteral).join(', ')}}`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `[${JSON.stringify(k)}] = ${luaLiteral(v)}`)
    .join(', ')}}`;
}

/** Runs a health script on `obj`; returns its hs.status and hs.message. */
export function runHealthScript(script: string, obj: unknown): { status: string; message: string | null } {
  const L = lauxlib.luaL_newstate();
  try {
    lualib.luaL_openlibs(L);
    const code = `obj = ${luaLiteral(obj)}\nlocal function health()\n${script}\nend\nlocal hs = health()\nreturn hs.status, hs.message`;
    if (lauxlib.luaL_dostring(L, to_luastring(code)) !== lua.LUA_OK) {
      throw new Error(`Lua error: ${lua.lua_tojsstring(L, -1)}`);
    }
    const top = lua.lua_gettop(L);
    return { status: lua.lua_tojsstring(L, top - 1) ?? '', message: lua.lua_tojsstring(L, top) };
  } finally {
    lua.lua_close(L);
  }
}
