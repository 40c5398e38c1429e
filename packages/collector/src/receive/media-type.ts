/** The media type of a Content-Type header, lower-cased and without parameters ('' when there is none). */
export function mediaType(header: string | undefined): string {
  if (!header) {
    return '';
  }
  const semicolon = header.indexOf(';');
  return (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
}
