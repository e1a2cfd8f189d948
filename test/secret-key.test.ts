import { SecretKey } from '../src';

describe('SecretKey', () => {
  test('a key of a Secret, required by default', () => {
    const key = SecretKey.of('hf-secret', 'token');
    expect(key).toMatchObject({ secretName: 'hf-secret', key: 'token', optional: false });
    expect(key._envSource()).toEqual({ secretKeyRef: { name: 'hf-secret', key: 'token' } });
  });

  test('asOptional lets the pod start without the Secret', () => {
    const key = SecretKey.of('hf-secret', 'token');
    expect(key.asOptional()._envSource()).toEqual({ secretKeyRef: { name: 'hf-secret', key: 'token', optional: true } });
    expect(key.optional).toBe(false);
  });

  test('the seed\'s W&B key', () => {
    expect(SecretKey.wandbDefault()._envSource()).toEqual({ secretKeyRef: { name: 'wandb-secret', key: 'api-key' } });
  });

  test('fails when the Secret name is invalid', () => {
    expect(() => SecretKey.of('WandB', 'api-key')).toThrow("'secretName' must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', each '.'-separated part starting and ending with a letter or digit, at most 253 characters), got 'WandB'");
    expect(() => SecretKey.of('hf..token', 'token')).toThrow("'secretName' must be a DNS-1123 subdomain");
  });

  test('a Secret name may be a DNS-1123 subdomain, as Kubernetes allows', () => {
    expect(SecretKey.of('hf.token', 'token')._envSource()).toEqual({ secretKeyRef: { name: 'hf.token', key: 'token' } });
  });

  test('fails when the key is invalid', () => {
    expect(() => SecretKey.of('wandb-secret', 'api key')).toThrow("'key' must be a Secret key (letters, digits, '-', '_' or '.'), got 'api key'");
  });
});
