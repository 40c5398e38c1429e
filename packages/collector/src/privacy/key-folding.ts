/**
 * The spelling-blind form of an attribute key used to match policy lists: `user.login`, `user_login`,
 * `User-Login` and `USER LOGIN` all fold to `user_login`. Everything outside ASCII letters and digits
 * becomes `_` *before* lowercasing, the way label names are made (limits/label-name.ts): lowercasing
 * first would let a key such as `user\u212Alogin` (KELVIN SIGN lowercases to `k`) miss the deny-list
 * here and still become the label `user_login` there.
 */
export function foldKey(key: string): string {
  return key.replace(/[^a-zA-Z0-9]+/g, '_').toLowerCase();
}
