/**
 * `health()`: model, self-test inference, memory, disk, uptime, versions.
 * @module
 */
export { type HealthReport, type HealthTimings, health } from './health.js';
