namespace Airlock.Gateway.Pipeline;

/// <summary>
/// The wait before another attempt on the same upstream: exponential backoff with full jitter ("Exponential Backoff
/// And Jitter", AWS Architecture Blog, 2015): a uniformly random delay in [0, base·2^(retry−1)], the ceiling capped at
/// <see cref="MaxDelay"/>. Full jitter spreads the retries of many clients throttled at the same moment, instead of
/// sending them back together. The random source is a parameter so the bounds and the spread can be tested.
/// </summary>
internal sealed class RetryBackoff(Random random)
{
    /// <summary>No wait before a retry is longer than this, whatever <c>retry_backoff</c> and the attempt number.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(10);

    /// <summary>The gateway's backoff (the thread-safe shared random source).</summary>
    public static RetryBackoff Shared { get; } = new(Random.Shared);

    /// <summary>The largest delay before retry number <paramref name="retry"/> (1 for the first retry).</summary>
    public static TimeSpan Ceiling(TimeSpan baseDelay, int retry)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retry, 1);
        var milliseconds = Math.Min(baseDelay.TotalMilliseconds * Math.Pow(2, retry - 1), MaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(Math.Max(milliseconds, 0));
    }

    /// <summary>The delay before retry number <paramref name="retry"/>: uniform in [0, <see cref="Ceiling"/>).</summary>
    public TimeSpan Delay(TimeSpan baseDelay, int retry) =>
        TimeSpan.FromMilliseconds(random.NextDouble() * Ceiling(baseDelay, retry).TotalMilliseconds);
}
