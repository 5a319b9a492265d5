import asyncio

import ot_transport as ot
from ot_transport.aio import AsyncNotary, AsyncSession

# Suite v3 keys: Ed25519 signs (A), X25519 opens (E); a NymID is the A key's.
c_auth, c_enc = ot.Key.generate_ed25519(), ot.Key.generate_x25519()
n_auth, n_enc = ot.Key.generate_ed25519(), ot.Key.generate_x25519()


async def main() -> None:
    async with AsyncNotary("tcp://127.0.0.1:*", n_auth, n_enc, n_auth.nym_id) as notary:

        async def serve() -> None:
            async for req in notary:  # readable requests, as they come
                content = req.verify(c_auth.public())
                if content == b"<subscribe/>\n":
                    notary.register_push(req, "alice", c_enc.public())
                await req.reply(b"@" + content, c_enc.public())
                req.close()

        server = asyncio.ensure_future(serve())
        async with AsyncSession(notary.endpoint, identity=(c_auth, c_enc),
                                notary=(n_auth.nym_id, n_enc.public(), n_auth.public())) as session:
            # 20 requests in flight at once on one thread, each awaited for its own reply
            replies = await asyncio.gather(*(session.request(f"<r n='{i}'/>") for i in range(20)))
            print(replies[7])  # b"@<r n='7'/>\n"
            try:
                await session.request(b"<slow/>", timeout=0.000001)
            except ot.TimeoutError:  # abandoned: its late reply is dropped
                print("timed out; the session goes on:", await session.request(b"<again/>"))
            await session.subscribe(b"<subscribe/>")
            await notary.push("alice", b"<note>1</note>")
            async for push in session.pushes(idle_timeout=5):
                print("push", push.seq, push.content)  # push 1 b'<note>1</note>\n'
                break
        server.cancel()


asyncio.run(main())
