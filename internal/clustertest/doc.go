// Package clustertest holds Köprü's container and cluster tests; it has no code outside its tests.
//
//   - TestImageServesReadyz builds the kopru and nats-server images the way deploy/docker does (FROM
//     scratch, user 65532, from binaries the test compiles, no registry), runs nats-server, the
//     simulators and a worker as containers on one Docker network, and checks /readyz, /metrics, the
//     user and that there is no shell.
//   - TestDockerClusterInvariants runs a 3-node nats-server cluster in containers with R3 streams and
//     ledger, two in-process workers on the host and the Licrus simulator, and stops, pauses and
//     disconnects nodes while events flow.
//   - TestEmbeddedClusterInvariants does the same against three in-process nats-servers, shutting down
//     and restarting stream leaders; it needs no Docker.
//   - TestKopruRunWaitsForAClusterBooting, TestKopruRunSurvivesMetaLeaderLossAtStartup and
//     TestKopruRunSurvivesStreamLeaderLossMidCall run the real `kopru run` binary (compiled once per
//     test binary) against three in-process servers with nothing pre-created: started while only one
//     server of three is up (it waits, /readyz 503 with the reason, then serves), with the meta leader
//     stopped during its setup, and with the EVENTS leader stopped while ~500 ms vendor calls are in
//     flight. They need no Docker.
//   - TestLedgerCompareAndSetOnR3 checks the ledger's create and compare-and-set on a replicated bucket,
//     with racing writers; it needs no Docker.
//
// The cluster tests run the route with its production timings and check Köprü's delivery invariants at
// the end: every event has exactly one terminal record (an outcome or a dead letter), outcomes equal
// the simulator's accepted calls (each outcome carrying its call's number), an event the vendor
// accepted twice is dead-lettered as ambiguous, and the ledger agrees. They log the figures (FIGURES:)
// and the timeline of the faults.
//
// The container tests skip when no Docker engine answers. They set TESTCONTAINERS_RYUK_DISABLED=true
// (no reaper image can be pulled) and clean up their own containers, networks and images.
package clustertest
