/**
 * A JSON number whose text a JS number would not reproduce ("100.50", "0.30000000000000001",
 * "1e2", 20-digit integers). It keeps the text so money fields can be read exactly; any other
 * field serialises back to a plain number, as JSON.parse would have given.
 */
export class JsonNumberText {
  constructor(readonly text: string) {}
  toJSON(): number {
    return Number(this.text);
  }
}
