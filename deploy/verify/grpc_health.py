#!/usr/bin/env python3
"""grpc.health.v1.Health/Check against HOST:PORT; exit 0 only if the answer is SERVING.

Usage: grpc_health.py HOST:PORT [SERVICE]
Needs python3-grpcio. The messages are built by hand (HealthCheckRequest{service=1},
HealthCheckResponse{status=1}, SERVING=1) so no generated health module is needed.
"""
import sys

import grpc


def main() -> int:
    target = sys.argv[1]
    service = sys.argv[2].encode() if len(sys.argv) > 2 else b""
    request = (b"\x0a" + bytes([len(service)]) + service) if service else b""
    with grpc.insecure_channel(target) as channel:
        check = channel.unary_unary("/grpc.health.v1.Health/Check")
        try:
            response = check(request, timeout=5)
        except grpc.RpcError as e:
            print(f"health {target}: {e.code().name} {e.details()}", file=sys.stderr)
            return 1
    status = response[1] if len(response) >= 2 and response[0] == 0x08 else 0
    names = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
    print(f"health {target}: {names.get(status, status)}")
    return 0 if status == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
