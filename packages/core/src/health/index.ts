/**
 * `health()`: model, self-test inference, memory, disk, uptime, versions.
 * @module
 */
export { type HealthReport, health } from './health.js';
