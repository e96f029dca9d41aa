#!/usr/bin/python3
"""A test SMTP server (aiosmtpd) that stores every received message.

    smtp_sink.py PORT DIR [--tls CERT KEY | --smtps CERT KEY]

Each message becomes DIR/msg-N.eml (the DATA as received, after dot
unstuffing) with its envelope in DIR/msg-N.env. With --tls the server
offers STARTTLS, requires it, and requires AUTH (PLAIN or LOGIN) with the
user and password from CS_SMTP_TEST_USER / CS_SMTP_TEST_PASSWORD. With
--smtps the server speaks implicit TLS (smtps://: the TLS handshake comes
before the greeting), without AUTH. DIR/ready appears once the server
listens. Stops on SIGTERM/SIGINT.
"""
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Store:
    def __init__(self, directory):
        self.dir = directory
        self.lock = threading.Lock()

    def _next(self):
        n = 1
        while os.path.exists(os.path.join(self.dir, "msg-%d.eml" % n)):
            n += 1
        return n

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            n = self._next()
            base = os.path.join(self.dir, "msg-%d" % n)
            with open(base + ".env.tmp", "w") as f:
                f.write("from %s\n" % envelope.mail_from)
                for r in envelope.rcpt_tos:
                    f.write("to %s\n" % r)
                f.write("auth %s\n" % (session.authenticated,))
                # session.ssl is only set by STARTTLS; implicit TLS shows
                # on the transport.
                tls = (session.ssl is not None or
                       server.transport.get_extra_info("ssl_object")
                       is not None)
                f.write("tls %s\n" % (tls,))
            os.rename(base + ".env.tmp", base + ".env")
            with open(base + ".tmp", "wb") as f:
                f.write(envelope.original_content or envelope.content)
            os.rename(base + ".tmp", base + ".eml")
        return "250 Message accepted"


class Auth:
    def __init__(self, user, password):
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if (isinstance(auth_data, LoginPassword)
                and auth_data.login == self.user
                and auth_data.password == self.password):
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def main():
    port = int(sys.argv[1])
    directory = sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    kwargs = {}
    if len(sys.argv) > 3 and sys.argv[3] == "--tls":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(sys.argv[4], sys.argv[5])
        kwargs = dict(tls_context=ctx, require_starttls=True,
                      auth_required=True, auth_require_tls=True,
                      authenticator=Auth(os.environ["CS_SMTP_TEST_USER"],
                                         os.environ["CS_SMTP_TEST_PASSWORD"]))
    elif len(sys.argv) > 3 and sys.argv[3] == "--smtps":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(sys.argv[4], sys.argv[5])
        kwargs = dict(ssl_context=ctx)
    ctl = Controller(Store(directory), hostname="127.0.0.1", port=port,
                     **kwargs)
    ctl.start()
    open(os.path.join(directory, "ready"), "w").close()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    while not done.wait(0.2):
        pass
    ctl.stop()


if __name__ == "__main__":
    main()
