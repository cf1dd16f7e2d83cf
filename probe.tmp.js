const mongoose = require('mongoose');
(async () => {
  const c = await mongoose.createConnection(process.argv[2]).asPromise();
  const dbs = (await c.db.admin().listDatabases()).databases.map((d) => d.name).filter((n) => n.startsWith('bench_'));
  const col = c.useDb(dbs[0]).collection('tracking_events');
  const cutoff = new Date(Date.now() - 90 * 86400000);
  console.log(new Date().toISOString(), 'expired left', await col.countDocuments({ receivedAt: { $lt: cutoff } }));
  await c.close();
})();
