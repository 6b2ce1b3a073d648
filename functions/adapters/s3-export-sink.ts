import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ExportSink } from '#domain/ports.ts';

// An export as an S3 object (the bucket encrypts it and expires it by its lifecycle rule) and a
// presigned GET for the customer: a link that needs no AWS account and stops working by itself.

/** SigV4 presigned URLs live at most 7 days; signed by a Lambda role they end with its session anyway. */
const LINK_SECONDS = 7 * 86_400;

export class S3ExportSink implements ExportSink {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly now: () => Date,
  ) {}

  async put(request: { customerId: string; requestId: string }, json: string) {
    const key = `exports/${encodeURIComponent(request.customerId)}/${encodeURIComponent(request.requestId)}.json`;
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: json,
        ContentType: 'application/json',
      }),
    );
    const link = await getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: LINK_SECONDS,
    });
    const expiresAt = new Date(this.now().getTime() + LINK_SECONDS * 1000).toISOString();
    return { location: `s3://${this.bucket}/${key}`, link, expiresAt };
  }
}
