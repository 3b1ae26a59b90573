#!/usr/bin/env node
// auth-service's process entry: the only place that touches `process`.
import { runServiceMain } from '@webrana/service-kit';
import { createApp, SERVICE } from './app';
import { PrismaClient } from './generated/prisma/client';

void runServiceMain({ service: SERVICE, PrismaClient, createApp }, process);
