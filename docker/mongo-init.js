// Runs once, when MongoDB's data volume is created (/docker-entrypoint-initdb.d, as the root user).
// Two users with the least privilege each needs: the loader writes, the API only reads.
const beacon = db.getSiblingDB("beacon");
beacon.createUser({
  user: "beacon_loader",
  pwd: process.env.BEACON_LOADER_PASSWORD,
  roles: [{ role: "readWrite", db: "beacon" }],
});
beacon.createUser({
  user: "beacon_api",
  pwd: process.env.BEACON_API_PASSWORD,
  roles: [{ role: "read", db: "beacon" }],
});
