/**
 * The spelling-blind form of an attribute key used to match policy lists: `user.login`, `user_login`,
 * `User-Login` and `USER LOGIN` all fold to `user_login`, so a denied key cannot slip through by
 * changing its punctuation or case.
 */
export function foldKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]+/g, '_');
}
