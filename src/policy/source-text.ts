import type { ErrorDetail } from '../errors.ts';

/** A half-open range of UTF-16 offsets into the policy text. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export type SourceLocation = NonNullable<ErrorDetail['location']>;

/**
 * The policy text with its line starts, turning offsets into `file:line:column`
 * and a two-line excerpt: the offending source line, and a caret line under the
 * offending text.
 *
 * @example
 *   new SourceText('a.yaml', 'version: 2\n').locate({ start: 9, end: 10 })
 *   // { file: 'a.yaml', line: 1, column: 10, excerpt: 'version: 2\n         ^' }
 */
export class SourceText {
  readonly file: string;
  readonly text: string;
  readonly #lineStarts: number[] = [0];

  constructor(file: string, text: string) {
    this.file = file;
    this.text = text;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 /* \n */ || (c === 13 /* \r */ && text.charCodeAt(i + 1) !== 10)) this.#lineStarts.push(i + 1);
    }
  }

  /** 0-based line index of an offset */
  #lineIndex(offset: number): number {
    let lo = 0;
    let hi = this.#lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  #lineText(index: number): string {
    const start = this.#lineStarts[index] ?? this.text.length;
    const next = this.#lineStarts[index + 1] ?? this.text.length;
    return this.text.slice(start, next).replace(/\r?\n$|\r$/, '');
  }

  /** The offset of a 1-based line and column (clamped to the text). */
  offsetOf(line: number, column: number): number {
    const start = this.#lineStarts[Math.max(0, Math.min(line - 1, this.#lineStarts.length - 1))] ?? 0;
    return Math.min(start + Math.max(0, column - 1), this.text.length);
  }

  locate(span: Span): SourceLocation {
    const start = Math.max(0, Math.min(span.start, this.text.length));
    const index = this.#lineIndex(start);
    const lineText = this.#lineText(index);
    const column = start - this.#lineStarts[index]! + 1;
    // the caret stays on the first line: a multi-line node is marked to the end of its first line
    const end = Math.min(Math.max(span.end, start + 1), this.#lineStarts[index]! + Math.max(lineText.length, column));
    // keep tabs so the caret lines up under tab-indented text in any terminal
    const pad = lineText.slice(0, column - 1).replace(/[^\t]/g, ' ');
    const caret = pad + '^'.repeat(Math.max(1, end - start));
    return { file: this.file, line: index + 1, column, excerpt: `${lineText}\n${caret}` };
  }

  /** A span covering the word at an offset (used when only a line and column are known). */
  wordAt(offset: number): Span {
    const m = /^[^\s:,{}[\]]+/.exec(this.text.slice(offset, offset + 200));
    return { start: offset, end: offset + (m ? m[0].length : 1) };
  }
}
