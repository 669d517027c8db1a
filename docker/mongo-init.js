// Runs once, when MongoDB's data volume is created (/docker-entrypoint-initdb.d, as the root user).
// Two users with the least privilege each needs: the loader writes, the API reads (and writes its counters).
const beacon = db.getSiblingDB("beacon");
beacon.createUser({
  user: "beacon_loader",
  pwd: process.env.BEACON_LOADER_PASSWORD,
  roles: [{ role: "readWrite", db: "beacon" }],
});
// The API also keeps the counters of query budgets, rate limits and member budgets (beacon/store/mongo/limits.py).
const limits = ["limits_budget_events", "limits_rate_buckets", "limits_member_answers"];
beacon.createRole({
  role: "beacon_limits",
  privileges: limits.map((collection) => ({
    resource: { db: "beacon", collection: collection },
    actions: ["find", "insert", "update", "remove", "createIndex"],
  })),
  roles: [],
});
beacon.createUser({
  user: "beacon_api",
  pwd: process.env.BEACON_API_PASSWORD,
  roles: [{ role: "read", db: "beacon" }, { role: "beacon_limits", db: "beacon" }],
});
