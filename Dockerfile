# Fireline: one image, every role (`fireline start --role all|api|worker`).
FROM node:20-bookworm-slim
ENV NODE_ENV=production
# Writable by the node user: a private redis-server's data and, without DATABASE_URL, the embedded
# history database (role all only).
ENV FIRELINE_DATA_DIR=/home/node/.fireline
WORKDIR /app
# Fonts for the chart PNGs (src/producer/chart-image.ts); the slim image has none.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY runbooks ./runbooks
COPY tsconfig.json ./
USER node
EXPOSE 3000
ENTRYPOINT ["node", "bin/fireline.js"]
CMD ["start", "--role", "all"]
