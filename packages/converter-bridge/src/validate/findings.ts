/**
 * Collects validation findings, sorted into errors and warnings by each code's severity.
 * @module
 */
import { VALIDATION_CHECKS, type ValidationCode, type ValidationIssue } from './codes.js';

/** Repeated findings of one code beyond this are summarised, so a broken 10 000-node graph stays readable. */
const MAX_PER_CODE = 20;

/** Accumulates {@link ValidationIssue}s. */
export class Findings {
  readonly errors: ValidationIssue[] = [];
  readonly warnings: ValidationIssue[] = [];
  private readonly counts = new Map<ValidationCode, number>();

  /** Record a finding; its severity comes from {@link VALIDATION_CHECKS}. */
  add(code: ValidationCode, message: string): void {
    const n = (this.counts.get(code) ?? 0) + 1;
    this.counts.set(code, n);
    if (n > MAX_PER_CODE) return;
    const list = VALIDATION_CHECKS[code].severity === 'error' ? this.errors : this.warnings;
    list.push({ code, message });
  }

  /** Append "… N more" notes for codes that were cut at MAX_PER_CODE. */
  finish(): void {
    for (const [code, n] of this.counts) {
      if (n > MAX_PER_CODE) {
        const list = VALIDATION_CHECKS[code].severity === 'error' ? this.errors : this.warnings;
        list.push({ code, message: `… and ${n - MAX_PER_CODE} more ${code} findings` });
      }
    }
  }

  /** Whether a finding with this code was recorded. */
  has(code: ValidationCode): boolean {
    return this.counts.has(code);
  }
}
