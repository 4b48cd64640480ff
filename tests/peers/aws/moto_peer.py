"""An AWS test peer for the e2e tests: moto's server on 127.0.0.1 with SigV4 checking on.

Starts moto on a free port, creates an IAM user with an access key allowed everything, a
DynamoDB lock table (hash key `LockID`, as terraform's) and an S3 bucket, then switches
moto's authentication on (`/moto-api/reset-auth`), so a wrong signature is refused with
`SignatureDoesNotMatch` as AWS refuses it. Writes `{"port", "access_key_id",
"secret_access_key", "table", "bucket"}` to `--ready-file` once it serves, and runs until
killed.
"""

import argparse
import json
import logging
import os
import threading
import urllib.request

import boto3
from moto.moto_server.threaded_moto_server import MotoRequestHandler
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--table", default="tf-locks")
    parser.add_argument("--bucket", default="tf-state")
    args = parser.parse_args()

    # One log line per request would only slow the contention tests down.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # One request at a time (moto's ThreadedMotoServer serves a thread per request): moto's
    # DynamoDB checks a ConditionExpression and then writes without a lock, so two
    # concurrent conditional PutItems could both succeed, which AWS never allows. Serial
    # handling makes each conditional write atomic, as on AWS; under the GIL it costs little.
    server = make_server(
        "127.0.0.1",
        0,
        DomainDispatcherApplication(create_backend_app),
        threaded=False,
        request_handler=MotoRequestHandler,
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    endpoint = f"http://127.0.0.1:{port}"
    # Before authentication is on, any credentials do for the setup.
    setup = dict(
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
    )
    iam = boto3.client("iam", **setup)
    iam.create_user(UserName="tollgate-e2e")
    iam.put_user_policy(
        UserName="tollgate-e2e",
        PolicyName="everything",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName="tollgate-e2e")["AccessKey"]
    boto3.client("dynamodb", **setup).create_table(
        TableName=args.table,
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    boto3.client("s3", **setup).create_bucket(Bucket=args.bucket)
    # Authentication on: moto answers 500 without this content type.
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=b"0",
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    urllib.request.urlopen(request, timeout=10).read()

    ready = {
        "port": port,
        "access_key_id": key["AccessKeyId"],
        "secret_access_key": key["SecretAccessKey"],
        "table": args.table,
        "bucket": args.bucket,
    }
    tmp = args.ready_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump(ready, f)
    os.replace(tmp, args.ready_file)
    threading.Event().wait()


if __name__ == "__main__":
    main()
