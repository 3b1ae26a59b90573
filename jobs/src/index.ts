export { seedOne } from './seed';
