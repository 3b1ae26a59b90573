export * from './url';
export * from './resolve';
export { prismaAdapter } from './prisma';
