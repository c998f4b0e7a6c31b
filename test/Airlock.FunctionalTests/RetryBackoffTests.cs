using Airlock.Gateway.Pipeline;

namespace Airlock.FunctionalTests;

/// <summary>
/// The gateway's retry backoff (exponential, full jitter, capped): the bounds of every delay and that the jitter really
/// spreads the delays. Deterministic: the random source is injected (seeded, or fixed at its extremes).
/// </summary>
public sealed class RetryBackoffTests
{
    [Theory]
    [InlineData(250, 1, 250)]
    [InlineData(250, 2, 500)]
    [InlineData(250, 3, 1_000)]
    [InlineData(250, 6, 8_000)]
    [InlineData(250, 7, 10_000)]
    [InlineData(250, 10, 10_000)]
    [InlineData(20_000, 1, 10_000)]
    [InlineData(0, 4, 0)]
    public void The_ceiling_doubles_per_retry_and_is_capped_at_ten_seconds(int baseMilliseconds, int retry, int expectedMilliseconds)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMilliseconds), RetryBackoff.Ceiling(TimeSpan.FromMilliseconds(baseMilliseconds), retry));
    }

    [Fact]
    public void There_is_no_backoff_before_the_first_attempt()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RetryBackoff.Ceiling(TimeSpan.FromMilliseconds(250), 0));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(9)]
    public void Every_delay_lies_between_zero_and_the_ceiling(int retry)
    {
        var baseDelay = TimeSpan.FromMilliseconds(250);
        var ceiling = RetryBackoff.Ceiling(baseDelay, retry);

        // The random source's own extremes: [0, 1).
        Assert.Equal(TimeSpan.Zero, new RetryBackoff(new FixedRandom(0)).Delay(baseDelay, retry));
        var largest = new RetryBackoff(new FixedRandom(Math.BitDecrement(1.0))).Delay(baseDelay, retry);
        Assert.True(largest <= ceiling && largest > ceiling * 0.999, $"{largest} for a ceiling of {ceiling}");

        var backoff = new RetryBackoff(new Random(20261124));
        for (var i = 0; i < 1_000; i++)
        {
            var delay = backoff.Delay(baseDelay, retry);
            Assert.InRange(delay, TimeSpan.Zero, ceiling);
        }
    }

    [Fact]
    public void The_jitter_spreads_delays_over_the_whole_range()
    {
        var baseDelay = TimeSpan.FromMilliseconds(100);
        var ceiling = RetryBackoff.Ceiling(baseDelay, 3);
        var backoff = new RetryBackoff(new Random(4242));

        var delays = Enumerable.Range(0, 400).Select(_ => backoff.Delay(baseDelay, 3)).ToList();

        // Full jitter, not a fixed wait or a small wobble around one: nearly all distinct, covering the range, and every
        // quarter of [0, ceiling) holds a fair share (a uniform spread puts ~100 in each).
        Assert.True(delays.Distinct().Count() > 390, $"{delays.Distinct().Count()} distinct delays of 400");
        Assert.True(delays.Min() < ceiling * 0.05, $"smallest {delays.Min()}");
        Assert.True(delays.Max() > ceiling * 0.95, $"largest {delays.Max()}");
        for (var quarter = 0; quarter < 4; quarter++)
        {
            var count = delays.Count(d => d >= ceiling * (quarter / 4.0) && d < ceiling * ((quarter + 1) / 4.0));
            Assert.InRange(count, 60, 140);
        }
    }

    [Fact]
    public void A_retry_after_is_waited_in_full_and_the_jitter_comes_on_top()
    {
        var baseDelay = TimeSpan.FromMilliseconds(100);
        var wait = TimeSpan.FromSeconds(3);

        Assert.Equal(wait, new RetryBackoff(new FixedRandom(0)).Delay(baseDelay, 2, wait));
        Assert.Equal(wait + TimeSpan.FromMilliseconds(100), new RetryBackoff(new FixedRandom(0.5)).Delay(baseDelay, 2, wait));
        // No header, or one that asks for nothing: the plain backoff.
        Assert.Equal(TimeSpan.FromMilliseconds(100), new RetryBackoff(new FixedRandom(0.5)).Delay(baseDelay, 2, null));
        Assert.Equal(TimeSpan.FromMilliseconds(100), new RetryBackoff(new FixedRandom(0.5)).Delay(baseDelay, 2, TimeSpan.Zero));
    }

    [Theory]
    [InlineData("retry-after", "7", 7_000)]
    [InlineData("retry-after", "0", 0)]
    [InlineData("retry-after-ms", "1500", 1_500)]
    [InlineData("retry-after-ms", "250.5", 250.5)]
    public void Retry_after_is_read_as_seconds_or_milliseconds(string header, string value, double expectedMilliseconds)
    {
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.TooManyRequests);
        response.Headers.TryAddWithoutValidation(header, value);

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMilliseconds), RetryBackoff.RetryAfter(response, DateTimeOffset.UnixEpoch));
    }

    [Fact]
    public void Retry_after_ms_wins_over_retry_after_and_an_http_date_counts_from_now()
    {
        var now = new DateTimeOffset(2026, 11, 24, 21, 0, 0, TimeSpan.Zero);
        using var both = new HttpResponseMessage(System.Net.HttpStatusCode.TooManyRequests);
        both.Headers.TryAddWithoutValidation("retry-after", "30");
        both.Headers.TryAddWithoutValidation("retry-after-ms", "400");
        Assert.Equal(TimeSpan.FromMilliseconds(400), RetryBackoff.RetryAfter(both, now));

        using var dated = new HttpResponseMessage(System.Net.HttpStatusCode.ServiceUnavailable);
        dated.Headers.TryAddWithoutValidation("retry-after", "Tue, 24 Nov 2026 21:00:45 GMT");
        Assert.Equal(TimeSpan.FromSeconds(45), RetryBackoff.RetryAfter(dated, now));

        using var past = new HttpResponseMessage(System.Net.HttpStatusCode.ServiceUnavailable);
        past.Headers.TryAddWithoutValidation("retry-after", "Tue, 24 Nov 2026 20:59:00 GMT");
        Assert.Equal(TimeSpan.Zero, RetryBackoff.RetryAfter(past, now));
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("retry-after", "soon")]
    [InlineData("retry-after-ms", "-5")]
    [InlineData("retry-after-ms", "NaN")]
    public void No_or_an_unreadable_retry_after_asks_for_no_wait(string? header, string? value)
    {
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.TooManyRequests);
        if (header is not null)
        {
            response.Headers.TryAddWithoutValidation(header, value);
        }

        Assert.Null(RetryBackoff.RetryAfter(response, DateTimeOffset.UnixEpoch));
    }

    [Fact]
    public void A_huge_retry_after_ms_does_not_overflow()
    {
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.TooManyRequests);
        response.Headers.TryAddWithoutValidation("retry-after-ms", new string('9', 300));

        Assert.True(RetryBackoff.RetryAfter(response, DateTimeOffset.UnixEpoch) > RetryBackoff.MaxDelay);
    }

    /// <summary>A random source that always returns one value.</summary>
    private sealed class FixedRandom(double value) : Random
    {
        public override double NextDouble() => value;
    }
}
