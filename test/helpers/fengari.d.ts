// The part of fengari (a Lua 5.3 interpreter in JavaScript, no types of its own) that
// test/helpers/lua.ts uses.
declare module 'fengari' {
  type LuaState = object;
  const fengari: {
    lua: {
      LUA_OK: number;
      lua_gettop(L: LuaState): number;
      lua_tojsstring(L: LuaState, index: number): string | null;
      lua_close(L: LuaState): void;
    };
    lauxlib: {
      luaL_newstate(): LuaState;
      luaL_dostring(L: LuaState, code: Uint8Array): number;
    };
    lualib: { luaL_openlibs(L: LuaState): void };
    to_luastring(s: string): Uint8Array;
  };
  export default fengari;
}
