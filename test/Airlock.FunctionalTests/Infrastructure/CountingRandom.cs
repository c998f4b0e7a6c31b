namespace Airlock.FunctionalTests.Infrastructure;

/// <summary>
/// The retry backoff's jitter source for tests (<c>retryJitter:</c> of the harness): always the middle of the range,
/// and counts its draws (one per retry on the same upstream), so a test can tell whether the gateway waited to retry.
/// </summary>
internal sealed class CountingRandom : Random
{
    private int _draws;

    public int Draws => Volatile.Read(ref _draws);

    public override double NextDouble()
    {
        Interlocked.Increment(ref _draws);
        return 0.5;
    }
}
