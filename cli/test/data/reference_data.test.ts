import { existsSync } from 'node:fs';

import { DEBIAN_FASHION_MNIST_DIR, loadFashionMnist } from '../../src/data/fashion_mnist';
import { fingerprintImages, identifyReferenceData } from '../../src/data/reference_data';
import { COMMITTED_SUBSET } from '../helpers';

describe('reference data', () => {
  it('recognises the committed subset by content', async () => {
    const data = await loadFashionMnist(COMMITTED_SUBSET);
    expect(identifyReferenceData(fingerprintImages(data))).toBe('committed Fashion-MNIST-LT subset');
  });

  it('does not recognise the same images with one pixel changed, or other labels', async () => {
    const data = await loadFashionMnist(COMMITTED_SUBSET);
    const images = data.test.images.slice();
    images[0] ^= 1;
    expect(identifyReferenceData(fingerprintImages({ ...data, test: { ...data.test, images } }))).toBeNull();
    const labels = data.train.labels.slice();
    labels[0] = (labels[0] + 1) % 10;
    expect(identifyReferenceData(fingerprintImages({ ...data, train: { ...data.train, labels } }))).toBeNull();
  });

  (existsSync(DEBIAN_FASHION_MNIST_DIR) ? it : it.skip)("recognises Debian's full Fashion-MNIST", async () => {
    const data = await loadFashionMnist(DEBIAN_FASHION_MNIST_DIR);
    expect(identifyReferenceData(fingerprintImages(data))).toBe('full Fashion-MNIST');
  });
});
