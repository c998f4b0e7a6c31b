using System.Runtime.CompilerServices;

// The functional tests reach InspectionRuntime.DecorateRequestScanner to prove the fail-closed path with a scanner
// that throws; no other internal is meant for them.
[assembly: InternalsVisibleTo("Airlock.FunctionalTests")]
