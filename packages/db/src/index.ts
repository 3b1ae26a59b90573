export * from './url';
export { prismaAdapter } from './prisma';
