import { ClaimMount, TrainingVolumes } from '../src';

describe('ClaimMount', () => {
  test('read-write by default, with a volume name derived from the claim', () => {
    const m = ClaimMount.of('model-output-pvc', '/output');
    expect(m).toMatchObject({ claimName: 'model-output-pvc', mountPath: '/output', readOnly: false, subPath: undefined });
    expect(m.volumeName).toBe('claim-model-output-pvc');
  });

  test('read-only and sub-path', () => {
    const m = ClaimMount.of('data', '/data', { readOnly: true, subPath: 'ko/v2' });
    expect(m.readOnly).toBe(true);
    expect(m.subPath).toBe('ko/v2');
    expect(m.withReadOnly(false).readOnly).toBe(false);
    expect(m.readOnly).toBe(true);
  });

  test('the volume name stays a DNS label for long claim names', () => {
    const name = ClaimMount.of(`a${'-b'.repeat(40)}`, '/x').volumeName;
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
  });

  test('fails when the claim name is invalid', () => {
    expect(() => ClaimMount.of('Data_PVC', '/data')).toThrow("'claimName' must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', each '.'-separated part starting and ending with a letter or digit, at most 253 characters), got 'Data_PVC'");
    for (const bad of ['data..v2', '.data', 'data.', 'data.V2', 'a'.repeat(254)]) {
      expect(() => ClaimMount.of(bad, '/data')).toThrow('\'claimName\' must be a DNS-1123 subdomain');
    }
  });

  test('a claim name may be a DNS-1123 subdomain, as Kubernetes allows for PersistentVolumeClaims', () => {
    const claim = ClaimMount.of('data.v2', '/data');
    expect(claim.claimName).toBe('data.v2');
    expect(claim.volumeName).toBe('claim-data-v2');
    expect(ClaimMount.of('a'.repeat(253), '/data').claimName).toHaveLength(253);
  });

  test('fails when two claims would get the same pod volume name', () => {
    expect(() => TrainingVolumes.fromClaims({ dataClaimName: 'data.v2', outputClaimName: 'data-v2' }))
      .toThrow("'outputClaimName' must be a claim whose pod volume name differs from the data claim's ('claim-data-v2'): rename one of the claims, got 'data-v2'");
  });

  test('fails when the mount path is relative or the root', () => {
    expect(() => ClaimMount.of('data', 'data')).toThrow("'mountPath' must be an absolute path without '..' or white space, got 'data'");
    expect(() => ClaimMount.of('data', '/')).toThrow("'mountPath' must be a path below '/', got '/'");
  });

  test('fails when the sub-path escapes the volume', () => {
    expect(() => ClaimMount.of('data', '/data', { subPath: '../etc' })).toThrow("'subPath' must be a relative path without '..', got '../etc'");
    expect(() => ClaimMount.of('data', '/data', { subPath: '/abs' })).toThrow("'subPath' must be a relative path without '..', got '/abs'");
  });
});

describe('TrainingVolumes', () => {
  test('the seed\'s claims by default: data read-only at /data, output read-write at /output', () => {
    const v = TrainingVolumes.fromClaims();
    expect(v.data).toMatchObject({ claimName: 'llm-training-data-pvc', mountPath: '/data', readOnly: true });
    expect(v.output).toMatchObject({ claimName: 'model-output-pvc', mountPath: '/output', readOnly: false });
  });

  test('custom claims and paths', () => {
    const v = TrainingVolumes.fromClaims({ dataClaimName: 'corpus', outputClaimName: 'ckpt', dataMountPath: '/corpus', outputMountPath: '/ckpt' });
    expect(v.data).toMatchObject({ claimName: 'corpus', mountPath: '/corpus' });
    expect(v.output).toMatchObject({ claimName: 'ckpt', mountPath: '/ckpt' });
  });

  test('fails when data and output share a mount path', () => {
    expect(() => TrainingVolumes.fromClaims({ outputMountPath: '/data' })).toThrow("'outputMountPath' must be different from the data mount path, got '/data'");
  });
});
