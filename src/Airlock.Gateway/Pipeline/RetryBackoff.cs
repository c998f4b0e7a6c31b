using System.Globalization;

namespace Airlock.Gateway.Pipeline;

/// <summary>
/// The wait before another attempt on the same upstream: exponential backoff with full jitter ("Exponential Backoff
/// And Jitter", AWS Architecture Blog, 2015): a uniformly random delay in [0, base·2^(retry−1)], the ceiling capped at
/// <see cref="MaxDelay"/>. Full jitter spreads the retries of many clients throttled at the same moment, instead of
/// sending them back together. An answer's Retry-After is honoured: the wait starts after it (a longer one than
/// <see cref="MaxDelay"/> is not waited for at all: the pipeline moves on). The random source is a parameter so the
/// bounds and the spread can be tested.
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

    /// <summary>
    /// The delay before retry number <paramref name="retry"/> when the last answer asked for <paramref name="retryAfter"/>:
    /// never sooner than asked, and jittered after it, so clients told the same moment do not all come back at it.
    /// </summary>
    public TimeSpan Delay(TimeSpan baseDelay, int retry, TimeSpan? retryAfter) =>
        (retryAfter is { } wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero) + Delay(baseDelay, retry);

    /// <summary>
    /// The wait an answer asks for, or null when it names none (or an unreadable one): <c>retry-after-ms</c> (milliseconds;
    /// the Anthropic and OpenAI APIs send it and their SDKs read it first), else <c>Retry-After</c> as delay-seconds or an
    /// HTTP-date (RFC 9110 §10.2.3). A date in the past is no wait.
    /// </summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage response, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.Headers.TryGetValues("retry-after-ms", out var values)
            && double.TryParse(values.FirstOrDefault(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var milliseconds)
            && double.IsFinite(milliseconds))
        {
            // Bounded so that no header value overflows a TimeSpan; anything past the cap is "too long" all the same.
            return TimeSpan.FromMilliseconds(Math.Min(milliseconds, TimeSpan.FromDays(1).TotalMilliseconds));
        }
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }
        if (header?.Date is { } date)
        {
            return date > now ? date - now : TimeSpan.Zero;
        }
        return null;
    }
}
