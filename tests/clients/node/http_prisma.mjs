// Prisma Client 7 with @prisma/adapter-planetscale over dbplane's HTTP SQL API: CRUD, a
// relation query and $transaction (interactive and batched). The tables are made by the
// test first. Prints a JSON summary.
import assert from "node:assert/strict";
import { PrismaClient } from "@prisma/client";
import { PrismaPlanetScale } from "@prisma/adapter-planetscale";

const env = process.env;
const adapter = new PrismaPlanetScale({
  host: env.EDGE_ACCESS_HOST,
  username: env.EDGE_USER,
  password: env.EDGE_PASSWORD,
});
const prisma = new PrismaClient({ adapter });
const summary = {};

const author = await prisma.author.create({
  data: { name: "Ursula", books: { create: [{ title: "The Dispossessed" }, { title: "The Lathe of Heaven" }] } },
});
const withBooks = await prisma.author.findUnique({
  where: { id: author.id },
  include: { books: { orderBy: { title: "asc" } } },
});
summary.books = withBooks.books.map((b) => b.title);
const renamed = await prisma.book.update({
  where: { id: withBooks.books[0].id },
  data: { title: "The Dispossessed: An Ambiguous Utopia" },
});
summary.renamed = renamed.title;

await assert.rejects(
  prisma.$transaction(async (tx) => {
    await tx.book.create({ data: { title: "never", authorId: author.id } });
    throw new Error("roll back");
  }),
  /roll back/,
);
await prisma.$transaction(async (tx) => {
  await tx.book.create({ data: { title: "Always Coming Home", authorId: author.id } });
});
await prisma.$transaction([
  prisma.book.deleteMany({ where: { title: "The Lathe of Heaven" } }),
  prisma.author.update({ where: { id: author.id }, data: { name: "Ursula K. Le Guin" } }),
]);
const after = await prisma.author.findMany({ include: { _count: { select: { books: true } } } });
summary.authors = after.map((a) => [a.name, a._count.books]);
const duplicate = await prisma.author
  .create({ data: { id: author.id, name: "again" } })
  .catch((error) => error);
summary.duplicate_code = duplicate.code;
await prisma.$disconnect();
console.log(JSON.stringify(summary, (_, v) => (typeof v === "bigint" ? Number(v) : v)));
