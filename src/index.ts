export * from './trainer-contract';
