// CSV as RFC 4180 writes it and spreadsheet exports (Shopify's among them) produce it: fields
// separated by commas, a field in double quotes may hold commas, line breaks and doubled quotes.
// Each record keeps the line it starts on, so a problem is reported where a person would look.

export interface CsvRecord {
  /** 1-based line of the file the record starts on (a quoted field may run over several). */
  line: number;
  fields: string[];
}

export class CsvError extends Error {
  override readonly name = 'CsvError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/** Every record of the text, blank lines skipped; a byte-order mark at the start is dropped. */
export const parseCsv = (input: string): CsvRecord[] => {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  /** Whether the current field opened with a quote, and whether that quote is still open. */
  let quoted = false;
  let open = false;
  /** The current field has had characters (or a quote): an empty record is a blank line. */
  let started = false;
  const endField = () => {
    fields.push(field);
    field = '';
    quoted = false;
  };
  const endRecord = () => {
    endField();
    if (fields.length > 1 || fields[0] !== '' || started) records.push({ line: recordLine, fields });
    fields = [];
    started = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (open) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else open = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"') {
      if (field !== '' || quoted)
        throw new CsvError(line, `column ${fields.length + 1}: a quote inside a field that is not quoted`);
      quoted = true;
      open = true;
      started = true;
      continue;
    }
    if (c === ',') {
      endField();
      started = true;
      continue;
    }
    if (c === '\r' && text[i + 1] === '\n') continue;
    if (c === '\n' || c === '\r') {
      endRecord();
      line++;
      recordLine = line;
      continue;
    }
    if (quoted)
      throw new CsvError(line, `column ${fields.length + 1}: text after the closing quote of a quoted field`);
    field += c;
    started = true;
  }
  if (open) throw new CsvError(recordLine, `column ${fields.length + 1}: a quoted field is never closed`);
  endRecord();
  return records;
};
